"""sagemaker-gitops: a GitOps controller for Amazon SageMaker inference endpoints."""

__version__ = "0.1.0"
