"""Protocol deviations of dosing: infusions missed, given outside their window or short."""
