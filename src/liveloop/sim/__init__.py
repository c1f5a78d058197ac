"""Load simulations against a real ``liveloop serve`` (benchmarks; not imported by the product)."""
