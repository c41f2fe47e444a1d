"""Operation execution: the registry (operations × provider actions) and the waterfall engine."""
