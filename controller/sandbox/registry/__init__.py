"""The Model Registry: moto fixes, seeding and cross-account sharing."""
