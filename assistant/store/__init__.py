"""What the user keeps: model versions and their retention, the product library."""
