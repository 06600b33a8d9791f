"""What the three services share: settings, the database, HTTP calls, the page layout."""
