"""EC2 through boto3. Knows nothing of tornado or SSH."""
