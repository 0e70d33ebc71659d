"""Crawls of sites without an API, run with Scrapy in a child process of their own.

Scrapy's Twisted reactor cannot be restarted inside one process, and the scheduler runs a
source many times per process: `runner.run_crawl` starts `python -m listeners.crawl.runner`
for every crawl, hands it a JSON config on stdin and reads JSON lines back from stdout.
Nothing here imports Scrapy in the parent process.
"""
