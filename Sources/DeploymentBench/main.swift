// Deployment benchmark (scripts/bench_deployments.sh): being written.
print("DeploymentBench: not written yet")
