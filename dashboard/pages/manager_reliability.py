"""TODO."""

import streamlit as st

st.title("manager_reliability")
