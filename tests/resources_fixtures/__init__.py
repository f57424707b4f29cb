"""Resource modules and packages wired by the tests of resources and typed apps."""
