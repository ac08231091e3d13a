"""The soak benchmark (`make soak`, `python -m bench.soak`): consecutive maintenance rolls of the lab
with one fault injected during each, while a client pulls through the registry VIP."""
