"""Application Auto Scaling, kept by the sandbox itself."""
