"""Benchmarks behind `assistant bench`: each module measures one thing and returns a Section."""
