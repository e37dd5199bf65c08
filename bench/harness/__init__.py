"""Create/exec benchmark harness: ours, the Docker SDK and llm-sandbox, on one image (see __main__)."""
