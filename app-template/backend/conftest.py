import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api_client():
    """A client whose requests arrive as they do through Caddy: over HTTPS."""
    return APIClient(headers={"X-Forwarded-Proto": "https"})
