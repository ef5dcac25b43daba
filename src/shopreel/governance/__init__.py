"""Governance: settings and policies as versioned data, changed only through proposals that
the protected regions' trust officers approve ("global strategy, local autonomy"), and the
per-region deploy allowlist of discovery models and policy sets. See docs/governance.md."""
