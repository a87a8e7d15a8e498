"""The endpoint kind: desired Models/EndpointConfig/Endpoint, its diff and actions."""
