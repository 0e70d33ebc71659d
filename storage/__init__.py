"""Tables, sessions and migrations. No other package writes SQL."""
