"""The todo app's resources: ``App(resources=["examples.todo.resources"])`` wires every module."""
