"""The plan and what reviewers read of it: changes, risk, masking, policy, outcomes."""
