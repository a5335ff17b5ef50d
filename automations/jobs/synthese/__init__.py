"""« Synthèse »: the agency's question — who entered the cooperative, how many, how is it going —
answered in one sheet (PRODUCT.md §2). ``counts`` computes the figures as plain values, ``people``
writes the journey of those who consented, ``layout`` lays the blocks out as a grid that reads as
opened; ``automations.jobs.summary`` plans the rewrite."""
