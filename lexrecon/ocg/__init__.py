"""Outside counsel guidelines (OCG): rules files and the engine that applies them."""
