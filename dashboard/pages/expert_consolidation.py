"""TODO."""

import streamlit as st

st.title("expert_consolidation")
