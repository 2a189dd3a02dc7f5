"""The customer-service (多客服) team of each account: its accounts, sessions and the operations
that change it through the WeChat API (R-KF-01..03). The models live in `messaging.models`."""
