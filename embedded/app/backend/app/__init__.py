"""The Todo AI chatbot: REST API, MCP tool server and chat agent in one package."""
