"""The campaigns pages, one module per subdomain (urls.py names them). Thin: parse → read through the policy
(policies.py) → call a service → render; out of scope answers 404 exactly like missing."""
