// plugin tests
