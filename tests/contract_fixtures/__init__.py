"""Resource modules for tests/test_api_contract.py: API.md's examples, as importable packages."""
