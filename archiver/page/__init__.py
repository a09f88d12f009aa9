"""What an archived page says: its links and requisites (links), citation metadata (metadata), main
text (main_text), and fidelity warnings such as an empty JavaScript shell (fidelity)."""
