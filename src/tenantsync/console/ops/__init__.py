"""What administrators do, as plain functions over a store session; pages and API share them."""
