"""Property-based requests over the service's OpenAPI document (Schemathesis): whatever a client sends
that the document describes, the service answers without a 5xx, and every answer matches its declared
schema. A request the document allows may still be refused with a documented 4xx (a category the data set
does not have, say): the check that would call that a failure is left out."""
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.actions.listing_service import ListingService
from core.dataset import load_dataset
from core.service.app import ServiceSettings, create_app
from core.service.keys import KeyStore
from core.workspace import Workspace


def test_no_request_gets_a_server_error_and_every_answer_matches_its_schema(small_data_dir):
    workspace = Workspace.from_environment()
    key = KeyStore(workspace.root / "service-keys.json").create("schema")
    app = create_app(workspace, load_dataset(), ServiceSettings(requests_per_second=1e6),
                     ListingService(workspace, load_dataset(), "tfidf"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/classify", "/v1/explain", "/v1/advice", "/healthz"}
    for operation in operations:
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def answers_well(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"},
                                   excluded_checks=[positive_data_acceptance])

        answers_well()
