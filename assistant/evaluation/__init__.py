"""The evaluation harness: datasets, the fixed scoring, baselines, reports (``coprod eval``).

A face on top of the advisor: it asks questions through ``Advisor.ask`` and reads the index only through
the advisor's retriever and embeddings.
"""
