"""MlflowClient (mlflow-skinny, pinned in scripts/requirements-test.txt) against a Vessel server.

Run by Tests/VesselServerTests/MLflowInteropTests.swift:

    python mlflow_interop.py MODE SERVER [DEST]

with MLFLOW_TRACKING_TOKEN set to a Vessel token. Prints one JSON object of what the client
saw; the Swift test judges it. Modes:

* read       models, versions, aliases, searches (with paging), updates, latest versions,
             create_registered_model, moving an unprotected alias, create_model_version refused
* protected  setting `production` (protected by default) with this token; the error seen
* download   mlflow.artifacts.download_artifacts("models:/acme~demo@production", dst_path=DEST)
"""

import json
import sys

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

NAME = "acme~demo"


def error_of(call):
    try:
        call()
    except MlflowException as error:
        return {"error_code": error.error_code, "message": error.message}
    return None


def version_dict(v):
    return {"name": v.name, "version": v.version, "status": v.status, "aliases": sorted(v.aliases),
            "description": v.description, "source": v.source, "current_stage": v.current_stage,
            "creation_timestamp": v.creation_timestamp}


def read(client):
    out = {}
    model = client.get_registered_model(NAME)
    out["model"] = {"name": model.name, "description": model.description, "tags": model.tags,
                    "aliases": dict(model.aliases), "latest": [v.version for v in model.latest_versions],
                    "creation_timestamp": model.creation_timestamp}
    out["slash_name"] = client.get_registered_model("acme/demo").name
    out["version"] = version_dict(client.get_model_version(NAME, "1"))
    out["by_alias"] = version_dict(client.get_model_version_by_alias(NAME, "production"))
    out["search_models"] = [m.name for m in client.search_registered_models(filter_string="name LIKE 'acme%'")]
    out["search_models_all"] = sorted(m.name for m in client.search_registered_models())
    out["search_versions"] = sorted(v.version for v in client.search_model_versions(f"name='{NAME}'"))
    pages, token = [], None
    while True:
        page = client.search_model_versions(f"name='{NAME}'", max_results=1, page_token=token)
        pages.append([v.version for v in page])
        token = page.token
        if not token:
            break
    out["version_pages"] = pages
    out["latest_versions"] = [v.version for v in client.get_latest_versions(NAME)]
    out["download_uri"] = client.get_model_version_download_uri(NAME, "2")
    client.set_registered_model_alias(NAME, "staging", "2")
    out["staging"] = client.get_model_version_by_alias(NAME, "staging").version
    client.delete_registered_model_alias(NAME, "staging")
    out["staging_after_delete"] = error_of(lambda: client.get_model_version_by_alias(NAME, "staging"))
    out["updated_model"] = client.update_registered_model(NAME, description="demo from mlflow").description
    out["updated_version"] = client.update_model_version(NAME, "2", description="second").description
    out["created"] = client.create_registered_model("acme~fresh", tags={"team": "nlp"}, description="new").name
    out["created_tags"] = client.get_registered_model("acme~fresh").tags
    out["missing_model"] = error_of(lambda: client.get_registered_model("acme~nothing"))
    out["missing_version"] = error_of(lambda: client.get_model_version(NAME, "99"))
    out["create_version"] = error_of(lambda: client.create_model_version(NAME, "s3://bucket/model"))
    return out


def protected(client):
    return {"set_production": error_of(lambda: client.set_registered_model_alias(NAME, "production", "2")),
            "production": client.get_model_version_by_alias(NAME, "production").version}


def download(server, dest):
    mlflow.set_tracking_uri(server)
    mlflow.set_registry_uri(server)
    path = mlflow.artifacts.download_artifacts(f"models:/{NAME}@production", dst_path=dest)
    return {"path": path}


def main():
    mode, server = sys.argv[1], sys.argv[2]
    client = MlflowClient(tracking_uri=server, registry_uri=server)
    if mode == "read":
        out = read(client)
    elif mode == "protected":
        out = protected(client)
    elif mode == "download":
        out = download(server, sys.argv[3])
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
