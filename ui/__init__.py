"""The Streamlit chat UI of ASF-assistenten (`make run`)."""
