"""CME episodes and the statutory returns built from them (the DfE termly EHE/CME return)."""
