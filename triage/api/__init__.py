"""The REST API (`/api/v1/`): the dashboard's reads and writes for scripts and
integrations. Reads go through `triage.selectors`, writes through
`triage.services`; serializers only shape data."""
