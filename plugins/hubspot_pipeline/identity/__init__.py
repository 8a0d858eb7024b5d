"""Hull's identity model: attributes, users, accounts and the ``incoming.*`` log."""
