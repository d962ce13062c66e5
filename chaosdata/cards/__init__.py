"""Dataset cards of a store: the repo card, one page per system, pictures, metadata JSON.

```python
from chaosdata.cards import render_cards
report = render_cards("data", "staged", repo_id="owner/name")   # README.md, cards/, metadata/
```
Templates are package data (`chaosdata/cards/templates/`, also reachable from the top-level
`cards/` folder); `values` turns store metadata into table rows, `plots` draws the PNGs.
"""

from chaosdata.cards.render import CardReport, render_cards

__all__ = ["CardReport", "render_cards"]
