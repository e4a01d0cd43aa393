"""The assistant's knowledge base: our concept notes and remediation guidance, CWE from cwe2."""
