"""The built-in policy rules, one module each; every module is imported by the registry."""
