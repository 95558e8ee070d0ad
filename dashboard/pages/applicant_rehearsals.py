"""TODO."""

import streamlit as st

st.title("applicant_rehearsals")
