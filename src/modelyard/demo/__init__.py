"""The live half of ``modelyard demo``: a real server, traffic, a canary, a policy."""
