"""How this project's plugins serve the Pulumi engine, on the SDK's public gRPC stubs only."""
