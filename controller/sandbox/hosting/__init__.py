"""SageMaker hosting: Models, EndpointConfigs, Endpoints and their lifecycle."""
