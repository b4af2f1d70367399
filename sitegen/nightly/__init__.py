"""The report wing: collect (kubectl) -> logs -> metrics -> chaos -> analyze -> pdf."""
