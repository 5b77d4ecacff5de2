"""What several test modules share: servers, proxies and runners. Test modules import from here,
never from each other."""
