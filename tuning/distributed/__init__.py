"""A search spread over processes or machines: KerasTuner's chief and workers.

The chief serves the saved search's oracle over gRPC and writes the reports as workers end
trials; each worker asks for a trial, trains it in a process of its own and reports back.
cluster reads the roles and addresses from the environment and starts local workers;
the engine's devices module says which GPUs each one sees.
"""
