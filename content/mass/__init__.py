"""Mass sends (群发, issue 25): transitions (the state table), services, selectors, events, tasks."""
