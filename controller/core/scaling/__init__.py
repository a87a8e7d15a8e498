"""Autoscaling (Application Auto Scaling) of variants and components, as data."""
