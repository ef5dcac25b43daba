"""Seller onboarding: applications (home-region plane), staff review, the seller center."""
