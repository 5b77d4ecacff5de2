"""Follow-up requests: the inbox, one request, its updates, and the CRM CSV."""
