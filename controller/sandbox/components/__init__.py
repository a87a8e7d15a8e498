"""SageMaker inference components (moto has none)."""
